#!/usr/bin/perl
# dkim_verify.pl HOST PORT < message: what Mail::DKIM (SpamAssassin's DKIM library, an implementation
# independent of dkimpy) says of each DKIM signature, one line each, then "result: pass|fail|none|...".
use strict;
use warnings;
use Mail::DKIM::DNS;
use Mail::DKIM::Verifier;
use Net::DNS::Resolver;

Mail::DKIM::DNS::resolver(Net::DNS::Resolver->new(nameservers => [$ARGV[0]], port => $ARGV[1], udp_timeout => 5));
my $dkim = Mail::DKIM::Verifier->new();
binmode STDIN;
while (my $line = <STDIN>) {
    $line =~ s/\r?\n\z/\r\n/;
    $dkim->PRINT($line);
}
$dkim->CLOSE;
print $_->domain, " ", $_->result_detail, "\n" for $dkim->signatures;
print "result: ", $dkim->result, "\n";
