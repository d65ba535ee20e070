"""The rules of the product; the web views, the API and the jobs all call these."""
