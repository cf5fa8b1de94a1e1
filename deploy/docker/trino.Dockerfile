# syntax=docker/dockerfile:1
# Trino with flowlake's access-control plugin (deploy/trino-access: table procedures for engineers
# only, trinodb/trino#22874), compiled against the SPI and toolkit of the same Trino.
# Its configuration (users, rules, catalog) is not baked in: `flowlake init --trino-etc /etc/trino`
# writes it into a volume (docker-compose.yml), from the templates the local Trino uses.
#
#   docker build -f deploy/docker/trino.Dockerfile -t flowlake/trino:476 .
ARG TRINO_VERSION=476

FROM trinodb/trino:${TRINO_VERSION} AS trino

FROM eclipse-temurin:24-jdk AS plugin
COPY --from=trino /usr/lib/trino /usr/lib/trino
COPY deploy/trino-access/src/ /build/src/
RUN set -eu; \
    mkdir -p /build/classes /plugin; \
    bundled=/usr/lib/trino/plugin/password-authenticators; \
    cp $bundled/io.trino_trino-plugin-toolkit-*.jar $bundled/com.google.guava_guava-*.jar \
       $bundled/com.google.guava_failureaccess-*.jar /plugin/; \
    javac --release 24 -nowarn -d /build/classes \
      -cp "$(ls /usr/lib/trino/lib/io.trino_trino-spi-*.jar):/plugin/*" $(find /build/src -name '*.java'); \
    cp -r /build/src/META-INF /build/classes/; \
    jar cf /plugin/flowlake-trino-access.jar -C /build/classes .

FROM trinodb/trino:${TRINO_VERSION}
COPY --from=plugin /plugin/ /usr/lib/trino/plugin/flowlake-access/
