-- Library names are unique regardless of case and 1-100 characters without control characters
-- (issue 20: two libraries called "Films" made `ferrex-appliance scan Films` ambiguous, and a
-- 5,000-character name was accepted). The API and the CLI check the same rule
-- (appliance/scan/library_names.py) and answer 409 for a taken name; the index decides races.
--
-- An older database may hold names that break the rule. They are repaired, not refused, so the
-- upgrade cannot fail: control characters become spaces, names are trimmed and cut to 100
-- characters (an empty one becomes "Library"), and of several libraries with the same name
-- (ignoring case) the oldest keeps it while the others get " (2)", " (3)", ... (the first
-- number not taken). Renames are logged to the sync feed by its trigger, so players follow.

UPDATE libraries
SET name = left(btrim(regexp_replace(name, '[[:cntrl:]]', ' ', 'g')), 100)
WHERE name ~ '[[:cntrl:]]' OR name <> btrim(name) OR char_length(name) > 100;

UPDATE libraries SET name = 'Library' WHERE name = '';

DO $$
DECLARE
    dup record;
    n integer;
    candidate text;
BEGIN
    FOR dup IN
        SELECT l.id, l.name FROM libraries l
        WHERE EXISTS (SELECT 1 FROM libraries o
                      WHERE lower(o.name) = lower(l.name)
                        AND (o.created_at, o.id) < (l.created_at, l.id))
        ORDER BY l.created_at, l.id
    LOOP
        n := 2;
        LOOP
            candidate := left(dup.name, 100 - char_length(' (' || n || ')')) || ' (' || n || ')';
            EXIT WHEN NOT EXISTS (SELECT 1 FROM libraries WHERE lower(name) = lower(candidate));
            n := n + 1;
        END LOOP;
        UPDATE libraries SET name = candidate WHERE id = dup.id;
    END LOOP;
END
$$;

CREATE UNIQUE INDEX libraries_name_lower ON libraries (lower(name));
ALTER TABLE libraries ADD CONSTRAINT libraries_name_length
    CHECK (char_length(name) BETWEEN 1 AND 100);

-- GET /api/v1/images/{id} asks, for a user limited to some libraries, whether a person of a
-- visible item shows the image: one probe instead of a scan of people.
CREATE INDEX people_image ON people (image_id) WHERE image_id IS NOT NULL;
