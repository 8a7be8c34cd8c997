"""Drafts (trajtok.drafts): each phrase written several times, the draft a real reader reads best kept."""

import dataclasses

import numpy as np
import pytest

from trajtok.data.hershey import synthesize
from trajtok.drafts import DRAFT_TEMPERATURE, draft_samplings, write_drafts
from trajtok.generate import Sampling, Writer
from trajtok.recognize import Recognizer
from trajtok.sample import Sample

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def writer():
    return Writer.from_checkpoint()  # the shipped model


@pytest.fixture(scope="module")
def reader():
    return Recognizer.from_checkpoint()  # the shipped recognizer


def test_the_first_draft_is_the_callers_and_the_others_are_sampled_with_the_seeds_after_it():
    greedy = Sampling(temperature=0.0, seed=7)
    samplings = draft_samplings(greedy, 3)
    assert samplings[0] == greedy
    assert [s.temperature for s in samplings[1:]] == [DRAFT_TEMPERATURE] * 2
    assert [s.seed for s in samplings] == [7, 8, 9]
    assert draft_samplings(Sampling(temperature=0.9, seed=None), 2)[1] == Sampling(temperature=0.9, seed=None)
    assert [s.seed for s in draft_samplings(Sampling(seed=2**63 - 2), 3)] == [2**63 - 2, 2**63 - 1, 0]
    with pytest.raises(ValueError, match="at least 1 draft"):
        draft_samplings(greedy, 0)


def test_the_reader_is_surer_of_the_text_that_was_written_and_cannot_read_a_lone_point(reader):
    written = synthesize("river", 0, seed=0)
    wrong = dataclasses.replace(written, text="stone")
    point = Sample(np.zeros((1, 2), np.float32), np.zeros((1, 1), np.float32), text="river")
    right_score, wrong_score, point_score = reader.text_log_probabilities([written, wrong, point])
    assert right_score > wrong_score + 5  # nats
    assert point_score == -np.inf


def test_each_phrase_keeps_the_draft_the_reader_reads_best(writer, reader):
    phrases, sampling = ["quiet river", "seven foxes"], Sampling(temperature=0.0, seed=3)
    drafts = [writer.write(phrases, s) for s in draft_samplings(sampling, 3)]
    scores = np.stack([reader.text_log_probabilities(d) for d in drafts])
    chosen = write_drafts(writer, phrases, sampling, 3, reader)
    for i, sample in enumerate(chosen):
        best = drafts[int(scores[:, i].argmax())][i]
        assert sample.text == phrases[i]
        np.testing.assert_array_equal(sample.deltas, best.deltas)
    assert (reader.text_log_probabilities(chosen) >= scores[0]).all()  # never worse read than the first


def test_one_draft_is_plain_writing(writer, reader):
    sampling = Sampling(temperature=0.0, seed=0)
    (plain,) = writer.write(["hello"], sampling)
    (drafted,) = write_drafts(writer, ["hello"], sampling, 1, reader)
    np.testing.assert_array_equal(plain.deltas, drafted.deltas)
