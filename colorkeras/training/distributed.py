"""Training across machines with ``tf.distribute.MultiWorkerMirroredStrategy``.

Keras 3's ``model.fit`` fails under this strategy ("Attempt to convert a value
(PerReplica...)", keras-team/keras#20585), so this is the custom loop that works:
the dataset distributed with ``strategy.experimental_distribute_dataset``, a
``tf.function`` that runs one step per replica with ``strategy.run`` (Keras 3
layers and optimizer), and ``strategy.reduce`` for the logged loss. The same Keras
callbacks as ``model.fit`` (checkpoint, history, progress, learning-rate schedule)
run around it, so a run written this way looks like any other.

Here too: the devices (``$COLORKERAS_LOGICAL_CPUS`` splits a CPU to try mirrored
training without accelerators), the strategy for ``--distribute``, and which
worker of a cluster writes the run.
"""

import json
import os

import keras
import tensorflow as tf

# === Devices, strategies and roles ===


LOGICAL_CPUS_ENV = "COLORKERAS_LOGICAL_CPUS"


def configure_devices():
    """Splits the CPU into ``$COLORKERAS_LOGICAL_CPUS`` logical devices, if set.

    This lets ``--distribute mirrored`` be tried (and tested) on a machine without
    accelerators; it must run before TensorFlow touches a device.
    """
    count = int(os.environ.get(LOGICAL_CPUS_ENV) or 0)
    if count > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)


def make_strategy(kind):
    if kind == "mirrored":
        return tf.distribute.MirroredStrategy()
    if kind == "multiworker":
        if not os.environ.get("TF_CONFIG"):
            raise ValueError("--distribute multiworker needs TF_CONFIG (cluster and task) in the environment")
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def is_chief_worker():
    """The chief of a TF_CONFIG cluster (or a run without one) writes the run."""
    tf_config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    task = tf_config.get("task", {})
    kind, index = task.get("type", "chief"), int(task.get("index", 0))
    has_chief = "chief" in tf_config.get("cluster", {})
    return kind == "chief" or (not has_chief and kind == "worker" and index == 0)


def _distribute(strategy, dataset):
    options = tf.data.Options()
    # The images are in memory, not in files: each worker takes its share of every batch.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return strategy.experimental_distribute_dataset(dataset.with_options(options))


def fit_multiworker(strategy, model, train_data, validation_data, config, initial_epoch, callbacks, verbose):
    """Trains ``model`` (built and compiled in ``strategy.scope()``) from ``initial_epoch``."""
    loss_function = model.loss
    global_batch = config.batch_size

    def per_example(target, prediction):
        losses = loss_function.call(target, prediction)
        return tf.reduce_mean(tf.reshape(losses, [tf.shape(losses)[0], -1]), axis=1)

    def train_step(lightness, target):
        with tf.GradientTape() as tape:
            prediction = model(lightness, training=True)
            loss = tf.nn.compute_average_loss(per_example(target, prediction), global_batch_size=global_batch)
        gradients = tape.gradient(loss, model.trainable_variables)
        model.optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=False))
        return loss

    def validation_step(lightness, target):
        losses = per_example(target, model(lightness, training=False))
        return tf.reduce_sum(losses), tf.cast(tf.size(losses), tf.float32)

    @tf.function
    def distributed_train_step(batch):
        losses = strategy.run(train_step, args=batch)
        return strategy.reduce(tf.distribute.ReduceOp.SUM, losses, axis=None)

    @tf.function
    def distributed_validation_step(batch):
        total, count = strategy.run(validation_step, args=batch)
        return (
            strategy.reduce(tf.distribute.ReduceOp.SUM, total, axis=None),
            strategy.reduce(tf.distribute.ReduceOp.SUM, count, axis=None),
        )

    steps = int(train_data.cardinality())
    callback_list = keras.callbacks.CallbackList(
        callbacks,
        add_history=True,
        add_progbar=verbose != 0,
        model=model,
        verbose=verbose,
        epochs=config.epochs,
        steps=steps,
    )
    distributed_train = _distribute(strategy, train_data)
    distributed_validation = _distribute(strategy, validation_data) if validation_data is not None else None
    callback_list.on_train_begin()
    for epoch in range(initial_epoch, config.epochs):
        callback_list.on_epoch_begin(epoch)
        total = 0.0
        for step, batch in enumerate(distributed_train):
            callback_list.on_train_batch_begin(step)
            total += float(distributed_train_step(batch))
            callback_list.on_train_batch_end(step, {"loss": total / (step + 1)})
        logs = {"loss": total / max(steps, 1)}
        if distributed_validation is not None:
            loss_sum, count = 0.0, 0.0
            for batch in distributed_validation:
                batch_sum, batch_count = distributed_validation_step(batch)
                loss_sum, count = loss_sum + float(batch_sum), count + float(batch_count)
            logs["val_loss"] = loss_sum / max(count, 1.0)
        callback_list.on_epoch_end(epoch, logs)
        if getattr(model, "stop_training", False):
            break
    callback_list.on_train_end()
