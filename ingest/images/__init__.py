"""One image from bytes or a file: decoding, orientation, file-type, size and root checks."""
