from huiying.cli import main

main()
