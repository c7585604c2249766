"""Reading text as written (`reader.py`), and telling a picture with nothing in it (`blank.py`)."""
