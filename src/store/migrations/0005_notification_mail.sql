-- 0005 notification mail (R28): each notification is also mailed to its user through the
-- system mailer; the state of that email lives here (pending → queued into the outbox).
ALTER TABLE notifications ADD COLUMN email_status TEXT NOT NULL DEFAULT 'pending';
