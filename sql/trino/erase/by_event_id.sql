-- Erasure of one person (`flowlake privacy erase`), from a table of event ids only (a registry table
-- whose person is "event_id"): the person's events are found through silver, so these run first.
DELETE FROM ${catalog}.${table} WHERE event_id IN (
  ${person_event_ids})
