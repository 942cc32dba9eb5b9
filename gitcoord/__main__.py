from gitcoord.cli.main import main

main()
