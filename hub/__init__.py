"""The provincial education data hub (học bạ số integration hub of a Sở GDĐT)."""
