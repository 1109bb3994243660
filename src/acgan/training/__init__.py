"""Training: run directories, checkpoints and the AC-GAN loop."""
