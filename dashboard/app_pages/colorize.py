"""Colorize uploads: before and after, one file each (PNG, TIFF, JPEG or WebP, with
the upload's metadata) or all in a ZIP; with a run that takes hints, click the
result to add colour points, or give a colour photograph of the same scene as a
reference."""

import common
import streamlit as st

from colorkeras.app import hints, uploads
from colorkeras.core import archive, store
from colorkeras.core.hints import HintError
from colorkeras.serving.inference import ImageError

st.title("Colorize")
left, middle, right = st.columns(3)
model_name = common.run_selector("Model", "colorize_model", left)
colorizer = common.load_colorizer(model_name)
render_size = middle.slider(
    "Render size (short side, px)",
    16,
    512,
    colorizer.render_size,
    step=8,
    key="colorize_render_size",
    help="The resolution the colour is predicted at; the result keeps the full resolution of your image.",
)
saturation = right.slider(
    "Saturation",
    0.5,
    2.5,
    float(colorizer.saturation),
    step=0.05,
    key="colorize_saturation",
    help="HSV saturation factor after prediction; 1.0 leaves the prediction as it is.",
)

limit_mb = st.get_option("server.maxUploadSize")
files = st.file_uploader(
    "Images (PNG, JPEG, WebP, TIFF, BMP)", type=list(uploads.UPLOAD_TYPES), accept_multiple_files=True, key="uploads"
)
st.caption(f"Up to {limit_mb} MB per file and {colorizer.max_pixels / 1e6:.0f} megapixels per image.")
download_format = st.selectbox(
    "Download as",
    list(archive.FORMATS),
    key="download_format",
    format_func=lambda name: {
        "png": "PNG (16-bit for 16-bit scans)",
        "tiff": "TIFF (16-bit for 16-bit scans)",
        "jpeg": "JPEG (8-bit)",
        "webp": "WebP (8-bit)",
    }[name],
    help="Every download keeps the upload's EXIF, IPTC, XMP and colour profile where the format holds them, "
    "and records that colorkeras coloured it, with which run and settings.",
)

reference_upload = None
if colorizer.takes_reference:
    reference_upload = st.file_uploader(
        "Reference photograph (optional)",
        type=list(uploads.UPLOAD_TYPES),
        key="reference_upload",
        help=(
            "A colour photograph of the same or a similar scene: each image takes its colour from it where the two "
            "correspond, and the automatic colour elsewhere. Render size, saturation and hints do not apply."
        ),
    )
reference = (reference_upload.name, reference_upload.getvalue()) if reference_upload is not None else None

st.session_state.setdefault("colorized", {})
st.session_state.setdefault("hints", {})  # upload file_id -> list of points
hint_mode = (
    colorizer.takes_hints
    and bool(files)
    and reference is None
    and st.toggle(
        "Hint mode: click the result to give a colour where you know it",
        key="hint_mode",
        help=(
            "The model takes colour points (Zhang et al. 2017): a click proposes the 5 colours it finds most likely "
            "there; pick one or any other."
        ),
    )
)
if files and not colorizer.takes_hints:
    hint_runs = hints.hint_runs()
    st.caption(
        f"{model_name} takes no colour hints; "
        + (
            f"choose {', '.join(hint_runs)} above to give colours where you know them."
            if hint_runs
            else "a run trained with --hints does."
        )
    )
results = []
if files:
    progress = st.progress(0.0, text="Colorizing ...")
    stamp = store.run_stamp(colorizer.path)
    for index, upload in enumerate(files):
        points = st.session_state.hints.get(upload.file_id, []) if hint_mode else []
        key = (
            upload.file_id,
            model_name,
            stamp,
            render_size,
            saturation,
            hints.hints_json(points),
            download_format,
            reference_upload.file_id if reference_upload is not None else None,
        )
        try:
            if key not in st.session_state.colorized:
                st.session_state.colorized[key] = uploads.colorize_upload(
                    colorizer,
                    upload.name,
                    upload.getvalue(),
                    render_size=render_size,
                    saturation=saturation,
                    hints=points,
                    fmt=download_format,
                    reference=reference,
                )
            results.append(st.session_state.colorized[key])
        except ImageError as error:
            st.error(f"Skipped {error}")
        progress.progress((index + 1) / len(files), text=f"Colorized {index + 1} of {len(files)}")
    progress.empty()
# Only the results on show are kept: one per upload, not one per slider value ever tried.
st.session_state.colorized = uploads.keep_current(st.session_state.colorized, results)


def hint_panel(upload, result, column):
    """The clickable result, the suggestions for a clicked point, and the point list."""
    from streamlit_image_coordinates import streamlit_image_coordinates

    height, width = result.colour.shape[:2]
    points = st.session_state.hints.setdefault(upload.file_id, [])
    version = st.session_state.setdefault(f"hint_version_{upload.file_id}", 0)

    def set_points(new_points):
        st.session_state.hints[upload.file_id] = new_points
        st.session_state[f"hint_version_{upload.file_id}"] = version + 1
        st.session_state.pop("pending_point", None)
        st.rerun()

    with column:
        click = streamlit_image_coordinates(
            hints.mark_points(result.colour, points),
            key=f"hint_click_{upload.file_id}",
            use_column_width="always",
            cursor="crosshair",
        )
        st.caption(f"Colorized with {len(points)} hint(s) ({result.seconds * 1000:.0f} ms). Click to add a point.")
    if click and click.get("unix_time") != st.session_state.get(f"hint_click_seen_{upload.file_id}"):
        st.session_state[f"hint_click_seen_{upload.file_id}"] = click.get("unix_time")
        st.session_state.pending_point = (upload.file_id, *hints.click_to_pixel(click, width, height))
    pending = st.session_state.get("pending_point")
    if pending and pending[0] == upload.file_id:
        _, x, y = pending
        image = uploads.open_upload(upload.name, upload.getvalue(), colorizer.max_pixels)
        suggestions = colorizer.suggest_colors(image, x, y, hints=points)
        st.markdown(f"**Point x={x}, y={y}**: the model's most likely colours there")
        choices = st.columns(len(suggestions) + 1)
        for rank, (slot, suggestion) in enumerate(zip(choices, suggestions, strict=False)):
            slot.markdown(
                f"<div style='background:{suggestion['color']};height:28px;border-radius:4px'></div>",
                unsafe_allow_html=True,
            )
            if slot.button(
                suggestion["color"], key=f"suggestion_{rank}", help=f"{suggestion['probability']:.0%} likely"
            ):
                set_points(points + [{"x": x, "y": y, "color": suggestion["color"], "radius": None}])
        picked = choices[-1].color_picker("Any colour", suggestions[0]["color"], key="hint_picker")
        if choices[-1].button("Use this colour", key="hint_use_picked"):
            set_points(points + [{"x": x, "y": y, "color": picked, "radius": None}])
    st.markdown("**Hints** (edit a cell, or select rows and delete them)")
    edited = st.data_editor(
        hints.hint_table(points),
        num_rows="dynamic",
        key=f"hint_table_{upload.file_id}_{version}",
        width="stretch",
        column_config={"color": st.column_config.TextColumn("color", help="#rrggbb")},
    )
    try:
        changed = hints.points_from_table(edited, width, height)
        if [(p["x"], p["y"], p["color"]) for p in changed] != [(p["x"], p["y"], p["color"]) for p in points]:
            set_points(changed)
    except HintError as error:
        st.error(str(error))
    clear, download, load = st.columns(3)
    if clear.button("Clear hints", key=f"hint_clear_{upload.file_id}", disabled=not points):
        set_points([])
    download.download_button(
        "Download hints (JSON)",
        hints.hints_json(points),
        file_name=hints.hints_name(upload.name),
        mime="application/json",
        key=f"hint_download_{upload.file_id}",
    )
    hints_file = load.file_uploader("Continue from a hints file", type=["json"], key=f"hint_upload_{upload.file_id}")
    if hints_file is not None and st.session_state.get(f"hint_loaded_{upload.file_id}") != hints_file.file_id:
        st.session_state[f"hint_loaded_{upload.file_id}"] = hints_file.file_id
        try:
            set_points(hints.read_hints_upload(hints_file.name, hints_file.getvalue(), width, height))
        except HintError as error:
            st.error(str(error))


by_name = {upload.name: upload for upload in files or []}
hinted_name = None
if hint_mode and results:
    names = [result.name for result in results]
    hinted_name = names[0] if len(names) == 1 else st.selectbox("Image to give hints", names, key="hint_image")

for index, result in enumerate(results):
    st.subheader(result.name)
    before, after = st.columns(2)
    before.image(result.gray, caption="Gray input", width="stretch")
    if result.name == hinted_name:
        hint_panel(by_name[result.name], result, after)
    else:
        after.image(result.colour, caption=f"Colorized ({result.seconds * 1000:.0f} ms)", width="stretch")
    after.download_button(
        f"Download {result.format.upper()}",
        result.encoded,
        file_name=uploads.result_name(result.name, result.format),
        mime=archive.MIME[result.format],
        key=f"download_{index}",
    )
    if result.dropped:
        after.caption("Not kept in this format: " + "; ".join(result.dropped))

if len(results) > 1:
    st.download_button(
        "Download all as ZIP", uploads.zip_results(results), file_name="colorized.zip", mime="application/zip"
    )
