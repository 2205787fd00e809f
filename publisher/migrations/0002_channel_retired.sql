-- A channel retired by a signed tombstone (issue 12 #4): its manifest is
-- rendered with "retired": true and no releases. A new change to the channel
-- (pub_chan_bump: a release, a promote into it) starts it again.
ALTER TABLE channels ADD COLUMN IF NOT EXISTS retired boolean NOT NULL DEFAULT false;
