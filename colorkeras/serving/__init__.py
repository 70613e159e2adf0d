"""The colorize graph (SavedModel and TFLite), export, the Python API, files and folders, HTTP, Apache Beam."""
