-- The lakehouse's Iceberg JDBC catalog, the same one Trino and PyIceberg use.
CREATE CATALOG ${catalog_name} WITH (
  'type' = 'iceberg',
  'catalog-impl' = 'org.apache.iceberg.jdbc.JdbcCatalog',
  'uri' = '${jdbc_url}',
  'jdbc.user' = '${jdbc_user}',
  'jdbc.password' = '${jdbc_password}',
  'jdbc.schema-version' = 'V1',
  'warehouse' = '${warehouse}'${file_io_options}
)
