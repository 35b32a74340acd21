from cfexplore.cli.main import main

main()
