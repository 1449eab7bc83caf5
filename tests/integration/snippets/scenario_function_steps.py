with consist.scenario("baseline", tracker=tracker) as sc:
    sc.run(
        name="beam_preprocess",
        fn=beamPreprocessor.run,  # imported function or bound method
        inputs={"data": "data"},
        output_paths={"beam_inputs": "beam_inputs.parquet"},
        load_inputs=False,
    )
    beam_inputs = sc.coupler.require("beam_inputs")
