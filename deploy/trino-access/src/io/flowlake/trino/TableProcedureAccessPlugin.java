package io.flowlake.trino;

import io.trino.plugin.base.security.AllowAllSystemAccessControl;
import io.trino.spi.Plugin;
import io.trino.spi.connector.CatalogSchemaTableName;
import io.trino.spi.security.AccessDeniedException;
import io.trino.spi.security.SystemAccessControl;
import io.trino.spi.security.SystemAccessControlFactory;
import io.trino.spi.security.SystemSecurityContext;

import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Closes a gap of Trino's file-based access control: it lets every user run table procedures
 * (ALTER TABLE ... EXECUTE optimize, expire_snapshots, remove_orphan_files, add_files) on any table
 * they can see, read-only catalog or not (trinodb/trino#22874). Configured beside the file-based
 * rules (access-control.config-files), this allows table procedures to members of the groups that
 * match {@code table-procedures.allowed-groups} only, and allows everything else, which the
 * file-based rules decide.
 */
public final class TableProcedureAccessPlugin
        implements Plugin
{
    public static final String NAME = "flowlake-table-procedures";
    public static final String ALLOWED_GROUPS = "table-procedures.allowed-groups";

    @Override
    public Iterable<SystemAccessControlFactory> getSystemAccessControlFactories()
    {
        return List.of(new SystemAccessControlFactory()
        {
            @Override
            public String getName()
            {
                return NAME;
            }

            @Override
            public SystemAccessControl create(Map<String, String> config, SystemAccessControlContext context)
            {
                String groups = config.get(ALLOWED_GROUPS);
                if (groups == null || groups.isBlank() || config.size() != 1) {
                    throw new IllegalArgumentException(NAME + " takes one property, " + ALLOWED_GROUPS
                            + " (a regular expression over group names); got " + config.keySet());
                }
                return new TableProcedureAccessControl(Pattern.compile(groups));
            }
        });
    }

    static final class TableProcedureAccessControl
            extends AllowAllSystemAccessControl
    {
        private final Pattern allowedGroups;

        TableProcedureAccessControl(Pattern allowedGroups)
        {
            this.allowedGroups = allowedGroups;
        }

        @Override
        public void checkCanExecuteTableProcedure(SystemSecurityContext context, CatalogSchemaTableName table, String procedure)
        {
            boolean allowed = context.getIdentity().getGroups().stream().anyMatch(group -> allowedGroups.matcher(group).matches());
            if (!allowed) {
                AccessDeniedException.denyExecuteTableProcedure(table.toString(), procedure);
            }
        }
    }
}
