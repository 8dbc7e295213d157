"""What privacy officers work with: the break-glass review queue, denied requests, the log's
integrity, and exchanges per purpose per week."""
