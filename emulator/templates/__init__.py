"""Templates, pure code: CloudFormation/SAM YAML read with its short tags (:mod:`.loading`),
local code paths rewritten to folders that hot-reload (:mod:`.local_code`), the SAM transform as
AWS applies it (:mod:`.sam`), and creating or updating a stack from them (:mod:`.stacks`)."""
