-- Erasure of one person from a table with a user_id column (a registry table whose person is "user_id").
DELETE FROM ${catalog}.${table} WHERE user_id = '${user_id}'
