from listserv.cli import main

main()
