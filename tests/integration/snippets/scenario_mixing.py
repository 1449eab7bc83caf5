def expensive_preprocessing(network_file: Path):
    ...
    return {"processed": processed_df}

with consist.scenario("baseline", tracker=tracker) as sc:
    preprocess = tracker.run(
        fn=expensive_preprocessing,
        inputs={"network_file": Path("network.geojson")},
        outputs=["processed"],
        load_inputs=True,
    )
    sc.coupler.update(preprocess.outputs)
