"""Film: upload a black-and-white clip (and key frames, if you have them), watch the progress, play and download the
colour one."""

import common
import streamlit as st

from colorkeras.app import uploads
from colorkeras.video.pipeline import DEFAULT_STABILITY, FilmError

st.title("Film")
left, right = st.columns(2)
model_name = common.run_selector("Model", "film_model", left)
colorizer = common.load_colorizer(model_name)
stability = right.slider(
    "Stability",
    0.0,
    1.0,
    DEFAULT_STABILITY,
    step=0.05,
    key="film_stability",
    help=(
        "How much of the previous frame's colour is carried along the motion where the optical flow is reliable; 0 "
        "colorizes each frame on its own (colours may flicker)."
    ),
)
limit_mb = st.get_option("server.maxUploadSize")
upload = st.file_uploader("A film (MP4, MOV, MKV, AVI, WebM)", type=list(uploads.FILM_TYPES), key="film_upload")
st.caption(
    f"Up to {limit_mb} MB. The colour film is H.264 MP4 with the same frames, frame rate and sound; "
    "for long films use `python -m colorkeras.film` (it resumes if interrupted)."
)

key_uploads = []
if colorizer.takes_reference:
    key_uploads = st.file_uploader(
        "Key frames (optional): colour images named by the frame they colour, counted from 0 (0.png, 240.png)",
        type=list(uploads.UPLOAD_TYPES),
        accept_multiple_files=True,
        key="film_key_frames",
        help=(
            "Each key frame colours its shot: carried along the motion, renewed from the key frame where the motion "
            "loses it, never across a cut. Shots without one are colorized as without any."
        ),
    )
key_frames = [(item.name, item.getvalue()) for item in key_uploads or []]

st.session_state.setdefault("film_results", {})
if upload is not None:
    key = (upload.file_id, model_name, stability, tuple(item.file_id for item in key_uploads or []))
    if key not in st.session_state.film_results and st.button("Colorize the film", type="primary", key="film_start"):
        bar = st.progress(0.0, text="Reading the film ...")

        def progress(done, total, seconds):
            fps = done / max(seconds, 1e-9)
            left_s = f", {max(total - done, 0) / max(fps, 1e-9):.0f} s left" if total else ""
            bar.progress(
                min(done / total, 1.0) if total else 0.0,
                text=f"Frame {done} of {total or '?'}: {fps:.1f} frames/s{left_s}",
            )

        try:
            video, summary = uploads.colorize_film_upload(
                colorizer, upload.name, upload.getvalue(), stability, progress, key_frames
            )
            st.session_state.film_results = {key: (video, summary)}  # Only the film on show is kept.
        except (FilmError, ValueError) as error:
            st.error(str(error))
        bar.empty()
    if key in st.session_state.film_results:
        video, summary = st.session_state.film_results[key]
        st.success(
            f"{summary['frames']} frames in {summary['seconds']:.1f} s "
            f"({summary['frames'] / max(summary['seconds'], 1e-9):.1f} frames/s), {summary['cuts']} scene cut(s)"
            + (", sound kept" if summary["audio"] else "")
        )
        st.video(video)
        st.download_button(
            "Download MP4",
            video,
            file_name=uploads.film_result_name(upload.name),
            mime="video/mp4",
            key="film_download",
        )
