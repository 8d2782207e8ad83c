from listserv.cli.main import main

main()
