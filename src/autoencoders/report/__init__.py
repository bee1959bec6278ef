"""The article, reproduced: experiment presets and the rendered report."""
