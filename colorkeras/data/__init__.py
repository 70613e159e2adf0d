"""tf.data pipelines from image folders and CIFAR-10, archive-scan defects, test films."""
