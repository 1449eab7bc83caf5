"""DDL compiled from the SQLModel tables (generated: python -m consist.adapters.stores.sql.schema)."""

SHIPPED_DDL: dict[str, tuple[str, ...]] = {
    "duckdb": (
        "\nCREATE TABLE IF NOT EXISTS artifact (\n\tid VARCHAR NOT NULL, \n\tkey VARCHAR NOT NULL, \n\turi VARCHAR NOT NULL, \n\tdriver VARCHAR, \n\tdigest VARCHAR, \n\tsize BIGINT, \n\trun_id VARCHAR, \n\tmeta_json VARCHAR, \n\tcreated_at TIMESTAMP WITHOUT TIME ZONE NOT NULL, \n\tPRIMARY KEY (id)\n)\n\n",
        "CREATE INDEX IF NOT EXISTS ix_artifact_key ON artifact (key)",
        "CREATE INDEX IF NOT EXISTS ix_artifact_run_id ON artifact (run_id)",
        "\nCREATE TABLE IF NOT EXISTS cache_index (\n\trun_id VARCHAR NOT NULL, \n\tsignature VARCHAR NOT NULL, \n\tcreated_at TIMESTAMP WITHOUT TIME ZONE NOT NULL, \n\trun_json VARCHAR NOT NULL, \n\toutputs_json VARCHAR NOT NULL, \n\tPRIMARY KEY (run_id)\n)\n\n",
        "CREATE INDEX IF NOT EXISTS ix_cache_index_signature ON cache_index (signature)",
        "\nCREATE TABLE IF NOT EXISTS config_facet (\n\tid VARCHAR NOT NULL, \n\tnamespace VARCHAR NOT NULL, \n\tfacet_json VARCHAR NOT NULL, \n\tcreated_at TIMESTAMP WITHOUT TIME ZONE NOT NULL, \n\tPRIMARY KEY (id)\n)\n\n",
        "\nCREATE TABLE IF NOT EXISTS consist_meta (\n\tkey VARCHAR NOT NULL, \n\tvalue VARCHAR NOT NULL, \n\tPRIMARY KEY (key)\n)\n\n",
        "\nCREATE TABLE IF NOT EXISTS ingestion (\n\tartifact_id VARCHAR NOT NULL, \n\ttable_name VARCHAR NOT NULL, \n\trun_id VARCHAR, \n\tschema_id VARCHAR, \n\trow_count BIGINT NOT NULL, \n\tingested_at TIMESTAMP WITHOUT TIME ZONE NOT NULL, \n\tPRIMARY KEY (artifact_id, table_name)\n)\n\n",
        "\nCREATE TABLE IF NOT EXISTS run (\n\tid VARCHAR NOT NULL, \n\tmodel_name VARCHAR NOT NULL, \n\tstatus VARCHAR NOT NULL, \n\tparent_run_id VARCHAR, \n\tyear INTEGER, \n\titeration INTEGER, \n\ttags VARCHAR, \n\tdescription VARCHAR, \n\tsignature VARCHAR, \n\tcode_digest VARCHAR, \n\tconfig_digest VARCHAR, \n\tinputs_digest VARCHAR, \n\tcode_identity VARCHAR, \n\tcache_epoch INTEGER NOT NULL, \n\tcache_hit BOOLEAN NOT NULL, \n\tcache_source VARCHAR, \n\tconfig_json VARCHAR, \n\tfacet_id VARCHAR, \n\tmeta_json VARCHAR, \n\terror VARCHAR, \n\tcreated_at TIMESTAMP WITHOUT TIME ZONE NOT NULL, \n\tstarted_at TIMESTAMP WITHOUT TIME ZONE, \n\tended_at TIMESTAMP WITHOUT TIME ZONE, \n\tduration_seconds DOUBLE PRECISION, \n\tartifact_dir VARCHAR, \n\thost VARCHAR, \n\tpid INTEGER, \n\tPRIMARY KEY (id)\n)\n\n",
        "CREATE INDEX IF NOT EXISTS ix_run_model_name ON run (model_name)",
        "CREATE INDEX IF NOT EXISTS ix_run_parent_run_id ON run (parent_run_id)",
        "CREATE INDEX IF NOT EXISTS ix_run_signature ON run (signature)",
        "\nCREATE TABLE IF NOT EXISTS run_artifact_link (\n\trun_id VARCHAR NOT NULL, \n\tartifact_id VARCHAR NOT NULL, \n\tdirection VARCHAR NOT NULL, \n\tkey VARCHAR NOT NULL, \n\tPRIMARY KEY (run_id, artifact_id, direction, key)\n)\n\n",
        "CREATE INDEX IF NOT EXISTS ix_run_artifact_link_artifact_id ON run_artifact_link (artifact_id)",
        "CREATE INDEX IF NOT EXISTS ix_run_artifact_link_run_id ON run_artifact_link (run_id)",
        "\nCREATE TABLE IF NOT EXISTS run_config_kv (\n\trun_id VARCHAR NOT NULL, \n\tnamespace VARCHAR NOT NULL, \n\tkey VARCHAR NOT NULL, \n\tfacet_id VARCHAR, \n\tvalue_type VARCHAR NOT NULL, \n\tvalue_str VARCHAR, \n\tvalue_num DOUBLE PRECISION, \n\tvalue_bool BOOLEAN, \n\tvalue_json VARCHAR, \n\tPRIMARY KEY (run_id, namespace, key)\n)\n\n",
        "CREATE INDEX IF NOT EXISTS ix_run_config_kv_namespace_key ON run_config_kv (namespace, key)",
        "CREATE INDEX IF NOT EXISTS ix_run_config_kv_run_id ON run_config_kv (run_id)",
        "\nCREATE TABLE IF NOT EXISTS table_schema (\n\tid VARCHAR NOT NULL, \n\tcolumns_json VARCHAR NOT NULL, \n\tcreated_at TIMESTAMP WITHOUT TIME ZONE NOT NULL, \n\tPRIMARY KEY (id)\n)\n\n",
    ),
}
