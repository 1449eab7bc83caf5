def run_legacy_model(upstream_artifact, ctx):
    import legacy_model

    legacy_model.run()
    ctx.capture_outputs(Path("outputs"), pattern="*.csv")


tracker.run(
    fn=run_legacy_model,
    inputs={"upstream_artifact": Path("input.csv")},
    depends_on=["config.yaml", "parameters.json"],
    inject_context="ctx",
)
