"""Templates for the dev loop: CloudFormation/SAM YAML read with its short tags, and local code
paths rewritten to folders that hot-reload (no build step, no upload)."""
