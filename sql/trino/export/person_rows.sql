-- One person's rows of one table at one snapshot (`flowlake privacy export`, an access request):
-- ${source} is the table pinned with FOR VERSION AS OF, ${person} the WHERE erasure uses for this kind of
-- table (sql/trino/erase/), so that an export holds exactly what an erasure would delete.
SELECT ${columns}
FROM ${source}
WHERE ${person}
ORDER BY ${order}
