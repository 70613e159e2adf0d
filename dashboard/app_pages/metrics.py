"""Metrics: every run beside the baselines, sortable, best values highlighted."""

import common
import streamlit as st

from colorkeras.app import reports

st.title("Metrics")


LABELS = {
    "psnr": "PSNR (dB)",
    "ssim": "SSIM",
    "colorfulness": "colourfulness",
    "colorfulness_gap": "gap to truth",
    "auc": "AuC",
    "mse": "MSE",
    "n": "images",
    "base_filters": "width",
    "image_size": "train px",
    "render_size": "render px",
    "saturation": "saturation",
    "temperature": "temperature",
    "train_seconds": "train s",
    "parameters": "parameters",
}


def show(frame, key):
    figures, truth, settings = reports.display_tables(frame)
    ranked = reports.ranked_together(figures)
    figures = figures.rename(columns=LABELS)

    def present(*names):
        return [LABELS[name] for name in names if LABELS[name] in figures]

    styled = figures.style
    if ranked:  # Rows scored on different image counts are not ranked against each other.
        styled = styled.highlight_max(subset=present("psnr", "ssim", "colorfulness", "auc"), color="#c8e6c9")
        styled = styled.highlight_min(subset=present("mse"), color="#c8e6c9")
    styled = (
        styled.format(precision=3, subset=present("ssim", "auc"))
        .format(precision=2, subset=present("psnr"))
        .format(precision=1, subset=present("mse", "colorfulness", "colorfulness_gap"))
        .format(precision=0, subset=present("n"))
    )
    st.dataframe(styled, width="stretch", hide_index=True, key=key)
    if not ranked:
        st.caption("These rows were scored on different numbers of images, so none is highlighted as best.")
    if truth is not None:
        st.caption(f"Ground truth colourfulness: {truth:.1f}. The gap is a model's colourfulness minus this.")
    if len(settings):
        with st.expander("Settings of these runs"):
            st.dataframe(settings.rename(columns=LABELS), width="stretch", hide_index=True, key=f"{key}_settings")


sources = common.data_sources()
if not sources:
    st.info("No runs yet.")
    st.stop()

st.caption(
    "Test-split metrics of the runs, grouped by the data they were trained on, with the baselines and full-resolution "
    "figures from `python -m colorkeras.evaluate --output saved_models/evaluation*.json` where present (otherwise the "
    "figures training wrote to saved_models/<run>/metrics.json). PSNR is pooled over the set (RGB 0-255); "
    "colourfulness is Hasler & Suesstrunk (2003); its gap is prediction minus truth."
)
# === Charts first: where each run sits, what hints buy, how steady a film is ===
tables = [
    (
        f"Reference: {reports.data_label(source)}" if index == 0 else f"Trained on {reports.data_label(source)}",
        common.metrics_table(source),
    )
    for index, source in enumerate(sources)
]
others = common.other_reports()
charts = [chart for title, frame in [*tables, *others] if (chart := reports.quality_chart(frame, title)) is not None]
sweeps, films = reports.hint_sweeps(), reports.film_reports()
st.subheader("At a glance")
st.caption(
    "PSNR against colourfulness (up is closer to the truth, right is more vivid; the dashed line is the truth's "
    "colourfulness), what hint points buy, and how steady the colour of a film is."
)
columns = st.columns(2)
for index, chart in enumerate(
    [
        *charts,
        *(reports.hint_chart(frame, title) for title, frame in sweeps),
        *(reports.film_chart(frame, title) for title, frame in films),
    ]
):
    columns[index % 2].altair_chart(chart, width="stretch")

for index, source in enumerate(sources):
    name = reports.data_label(source)
    st.subheader(f"Reference: {name}" if index == 0 else f"Trained on {name}")
    if index == 0:
        st.caption(f"The reference run **{common.reference_run()}** and every run trained on its data.")
    show(tables[index][1], key=f"metrics_table_{index}")
for index, (title, frame) in enumerate(others):
    st.subheader(title)
    show(frame, key=f"report_table_{index}")


def show_plain(tables, caption, key):
    """Tables of their own (hint sweeps, archive-like inputs, films), under one caption."""
    if tables:
        st.caption(caption)
    for index, (title, frame) in enumerate(tables):
        st.subheader(title)
        st.dataframe(frame.rename(columns=LABELS), width="stretch", hide_index=True, key=f"{key}_{index}")


show_plain(
    reports.hint_sweeps(),
    "Hints: N points revealed from the truth per image (`python -m colorkeras.evaluate --hints 0 1 2 5 10 20`), "
    "each the mean colour of a 3x3 patch at a centre-biased place; 0 is the automatic result.",
    "hint_table",
)
show_plain(
    reports.archive_reports(),
    "Archive-like inputs: each gray copy given film grain, blur, fading, scratches and JPEG artefacts "
    "(`python -m colorkeras.evaluate --degrade`, seeded by the image); the truth is the clean colour photograph.",
    "archive_table",
)
show_plain(
    reports.film_reports(),
    "Films: each frame colorized on its own, and stabilised along the optical flow (`python -m colorkeras.evaluate "
    "--data FILM`); warping error of Lai et al. (2018) x 1000, lower is steadier.",
    "film_table",
)
