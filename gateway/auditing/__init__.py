"""The gateway's use of the audit log: recording actions, checkpoints, and who may read what."""
