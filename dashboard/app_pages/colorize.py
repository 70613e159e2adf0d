"""Colorize uploads: before and after, one PNG each or all in a ZIP."""

import streamlit as st

import common
from colorkeras import dashboard, store
from colorkeras.inference import ImageError

st.title("Colorize")
left, middle, right = st.columns(3)
model_name = common.run_selector("Model", "colorize_model", left)
colorizer = common.load_colorizer(model_name)
render_size = middle.slider(
    "Render size (short side, px)", 16, 512, colorizer.render_size, step=8, key="colorize_render_size",
    help="The resolution the colour is predicted at; the result keeps the full resolution of your image.",
)
saturation = right.slider(
    "Saturation", 0.5, 2.5, float(colorizer.saturation), step=0.05, key="colorize_saturation",
    help="HSV saturation factor after prediction; 1.0 leaves the prediction as it is.",
)

limit_mb = st.get_option("server.maxUploadSize")
files = st.file_uploader(
    "Images (PNG, JPEG, WebP, TIFF, BMP)", type=list(dashboard.UPLOAD_TYPES), accept_multiple_files=True, key="uploads"
)
st.caption(f"Up to {limit_mb} MB per file and {colorizer.max_pixels / 1e6:.0f} megapixels per image.")

st.session_state.setdefault("colorized", {})
results = []
if files:
    progress = st.progress(0.0, text="Colorizing ...")
    stamp = store.run_stamp(colorizer.path)
    for index, upload in enumerate(files):
        key = (upload.file_id, model_name, stamp, render_size, saturation)
        try:
            if key not in st.session_state.colorized:
                st.session_state.colorized[key] = dashboard.colorize_upload(
                    colorizer, upload.name, upload.getvalue(), render_size=render_size, saturation=saturation
                )
            results.append(st.session_state.colorized[key])
        except ImageError as error:
            st.error(f"Skipped {error}")
        progress.progress((index + 1) / len(files), text=f"Colorized {index + 1} of {len(files)}")
    progress.empty()
# Only the results on show are kept: one per upload, not one per slider value ever tried.
st.session_state.colorized = dashboard.keep_current(st.session_state.colorized, results)

for index, result in enumerate(results):
    st.subheader(result.name)
    before, after = st.columns(2)
    before.image(result.gray, caption="Gray input", width="stretch")
    after.image(result.colour, caption=f"Colorized ({result.seconds * 1000:.0f} ms)", width="stretch")
    after.download_button(
        "Download PNG", result.png, file_name=dashboard.result_name(result.name), mime="image/png", key=f"download_{index}"
    )

if len(results) > 1:
    st.download_button("Download all as ZIP", dashboard.zip_results(results), file_name="colorized.zip", mime="application/zip")
