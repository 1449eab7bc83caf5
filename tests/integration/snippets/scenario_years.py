import consist
from consist import Tracker

tracker = Tracker(run_dir="./runs", db_path="./provenance.duckdb")

with consist.scenario("baseline", tracker=tracker, model="travel_demand") as sc:

    with sc.trace(name="initialize", run_id="baseline_init"):
        df_pop = load_population()
        consist.log_dataframe(df_pop, key="population", schema=Population)
    
    for year in [2020, 2030, 2040]:
        with sc.trace(name="simulate", run_id=f"baseline_{year}", year=year):
            df_result = run_model(year)
            consist.log_dataframe(df_result, key="persons", schema=Person)
