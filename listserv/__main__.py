from listserv.cli.main import run

run()
