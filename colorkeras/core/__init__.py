"""The parts every other package stands on, without TensorFlow: images, the run store, settings, hints, file writes,
command-line plumbing."""
