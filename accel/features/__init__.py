"""Feature composition shared by the pipelines and the accelerator's model pipelines: array
functions over whole windows, built on the kernels `accel.kernels` selects."""
