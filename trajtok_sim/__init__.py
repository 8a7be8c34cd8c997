"""PyBullet scenes for trajtok (installed as `trajtok_sim`): the whiteboard writer and pick-and-place."""
