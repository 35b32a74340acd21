from cfexplore.cli import main

main()
