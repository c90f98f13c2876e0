ALTER TABLE emails DROP COLUMN unsubscribe_url;
DROP TABLE notification_optouts;
ALTER TABLE users DROP COLUMN mail_token;
