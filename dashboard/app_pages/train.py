"""Train: start a training run in the background, watch it live, cancel or resume it."""

import datetime

import streamlit as st

from colorkeras.core.config import ARCHITECTURES
from colorkeras.core.store import RunError
from colorkeras.training import jobs

st.title("Train")
st.caption(
    "One training at a time on this server. Data may come only from the folders the operator "
    f"allows ({jobs.DATA_ROOTS_ENV}; the shared data sets are allowed by default)."
)


def status_line(progress):
    """What the job is doing now, in words."""
    if progress["phase"] != "training":
        return f"{progress['phase'].capitalize()} ..."
    text = f"Epoch {progress['epoch']} of {progress['epochs']}, step {progress['step']} of {progress['steps']}"
    if progress["loss"] is not None:
        text += f", loss {progress['loss']:.4f}"
    if progress["seconds_left"] is not None:
        text += f", about {datetime.timedelta(seconds=int(progress['seconds_left']))} left"
    return text


@st.fragment(run_every=2)
def live_job():
    job = jobs.read_job()
    if not job:
        st.info("No training started from here yet.")
        return
    progress = jobs.job_progress(job)
    st.subheader(f"{job['name']}: {job['status']}")
    if job["status"] == "running":
        st.progress(progress["overall"], text=status_line(progress))
        if st.button("Cancel training", key="cancel"):
            try:
                ended = jobs.cancel_job()
            except jobs.JobError as error:
                st.info(f"{error}: it ended meanwhile.")
            else:
                if ended["status"] == "cancelled":
                    st.warning("Cancelled: completed epochs are kept; Resume continues from the last one.")
            st.rerun(scope="fragment")
    elif job["status"] == "finished":
        st.success(f"Finished: {job['name']} is on the Colorize, Training history and Metrics pages.")
    elif job["status"] == "failed":
        reason = jobs.failure_reason(job)
        st.error(
            f"The training stopped: {reason}"
            if reason
            else "The training stopped with an error; the end of its log is below."
        )
    elif job["status"] == "cancelled":
        st.warning("Cancelled.")
    if jobs.resumable(job) and st.button("Resume training", key="resume"):
        try:
            jobs.resume_job()
        except jobs.JobError as error:
            st.error(str(error))
        st.rerun(scope="fragment")
    if progress["history"]:
        st.dataframe(progress["history"], width="stretch")
    with st.expander("Log", expanded=job["status"] == "failed"):
        st.code(jobs.log_tail(job) or "(empty)", language=None, wrap_lines=True)


live_job()

roots = jobs.data_roots()
default_data = next(
    (str(root / name) for root in roots for name in ("photos", "cifar10") if (root / name).is_dir()), "cifar10"
)
with st.form("train_form"):
    st.write("Start a new training run.")
    left, right = st.columns(2)
    data = left.text_input(
        "Data: 'cifar10' or an image folder inside the allowed folders", value=default_data, key="train_data"
    )
    architecture = right.selectbox("Architecture", list(ARCHITECTURES), key="train_architecture")
    epochs = left.number_input("Epochs", 1, 500, 5, key="train_epochs")
    batch_size = right.number_input("Batch size", 1, 1024, 64, key="train_batch_size")
    learning_rate = left.number_input("Learning rate", 1e-6, 1.0, 1e-3, format="%.5f", key="train_learning_rate")
    image_size = right.number_input("Image size (px)", 8, 512, 32, step=8, key="train_image_size")
    limit = left.number_input("Use at most this many training images (0 = all)", 0, 10_000_000, 0, key="train_limit")
    name = right.text_input("Run name", value=f"run-{datetime.datetime.now():%Y%m%d-%H%M}", key="train_name")
    submitted = st.form_submit_button("Start training")

if submitted:
    settings = dict(
        data=data,
        architecture=architecture,
        epochs=int(epochs),
        batch_size=int(batch_size),
        learning_rate=float(learning_rate),
        image_size=int(image_size),
        limit=int(limit) or None,
        name=name.strip(),
    )
    try:
        job = jobs.start_job(settings)
        # A toast, not a box: the live view above says how it goes from here.
        st.toast(f"Started {job['name']}")
    except (jobs.JobError, RunError) as error:
        st.error(str(error))
