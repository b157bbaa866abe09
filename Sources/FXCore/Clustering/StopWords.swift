/// Common English function words, left out of TF-IDF vectors by default.
public let englishStopWords: Set<String> = Set("""
a about above after again against all almost also although always am among an and another any anyone anything \
are around as at be became because become been before being below between both but by can cannot could did do \
does doing done down during each either else enough etc even ever every few for from further get gets got had has \
have having he her here hers herself him himself his how however i if in into is it its itself just least less \
like made make many may me might mine more most much must my myself neither never no nor not now of off often on \
once one only or other others otherwise our ours ourselves out over own per perhaps please quite rather same \
several shall she should since so some something sometimes still such than that the their theirs them \
themselves then there therefore these they this those though through thus to together too toward towards under \
until up upon us use used uses using very via was we well were what whatever when whenever where whether which \
while who whoever whom whose why will with within without would yet you your yours yourself yourselves
""".split(separator: " ").map(String.init))
