"""Films: media I/O, optical flow, the stabiliser, resumable segments."""
