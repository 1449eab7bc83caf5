with consist.scenario(
    "baseline",
    tracker=tracker,
    step_cache_hydration="inputs-missing",
) as sc:
    coupler = sc.coupler
    
    with sc.trace(name="preprocess"):
        df = preprocess_data()
        art = consist.log_dataframe(df, key="processed")
        coupler.set("data", art)
    
    # Declare upstream artifacts as step inputs so caching and provenance are correct.
    # `input_keys=[...]` avoids repeating `coupler.require(...)` in `inputs=[...]`.
    # Use `optional_input_keys=[...]` to include artifacts only if they already exist.
    with sc.trace(name="simulate", input_keys=["data"]):
        df = consist.load(coupler.require("data"))
        # ... simulation logic ...
