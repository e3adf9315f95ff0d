"""The build pipeline: discover module files, compile, validate, write provisioning files atomically."""
