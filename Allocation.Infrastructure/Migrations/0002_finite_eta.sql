-- Before this migration the API took any date, and Npgsql stored 0001-01-01 and 9999-12-31 as
-- -infinity and infinity, which the service no longer reads (it refuses dates outside 2000-01-01 to
-- 2199-12-31 and has Npgsql's infinity conversion off). Clamp them into that range, keeping the order
-- of arrival (-infinity stays the earliest, infinity the latest), and let the database refuse them.
UPDATE batches SET eta = '2000-01-01' WHERE eta = '-infinity';
UPDATE batches SET eta = '2199-12-31' WHERE eta = 'infinity';
ALTER TABLE batches ADD CONSTRAINT batches_eta_finite CHECK (isfinite(eta));
