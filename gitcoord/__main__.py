from gitcoord.cli.main import run

run()
