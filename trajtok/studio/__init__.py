"""trajtok studio: a local web page in front of the writer, the recognizer, a dataset and the whiteboard."""
