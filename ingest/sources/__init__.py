"""Datasets as lists of images: layouts, locators and the container readers (webdataset, Parquet)."""
